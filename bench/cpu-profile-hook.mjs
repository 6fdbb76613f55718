// Preloaded by bench/profile.mjs (node --import): the first SIGUSR2 starts V8's
// CPU profiler, the second writes the profile to TALLY_PROFILE_OUT, so a
// profile covers the steady load only (not start-up or the warm-up's token
// verifications).
import { writeFileSync } from "node:fs";
import { Session } from "node:inspector/promises";

const session = new Session();
session.connect();
await session.post("Profiler.enable");
await session.post("Profiler.setSamplingInterval", { interval: 100 });
let running = false;
process.on("SIGUSR2", async () => {
  if (!running) {
    running = true;
    await session.post("Profiler.start");
    return;
  }
  const { profile } = await session.post("Profiler.stop");
  writeFileSync(process.env.TALLY_PROFILE_OUT, JSON.stringify(profile));
  running = false;
});
