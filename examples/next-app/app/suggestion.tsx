"use client";
import { useEffect, useState } from "react";
import { telemetry } from "./telemetry";

export function Suggestion() {
  const [signedIn, setSignedIn] = useState(false);
  useEffect(() => {
    // For the end-to-end test (tests/e2e/next-app.test.ts), which reads `pending`.
    (window as unknown as { tallyTelemetry: typeof telemetry }).tallyTelemetry = telemetry;
  }, []);

  async function signIn() {
    await fetch("/api/login", { method: "POST" });
    setSignedIn(true);
  }

  return (
    <>
      <p id="session">{signedIn ? "Signed in as next-demo-user." : "Not signed in."}</p>
      <button id="login" onClick={signIn}>Sign in as demo user</button>
      <div className="card">
        <p>A suggestion: <em>“Consider renaming this variable.”</em></p>
        <button id="show" onClick={() => telemetry.track("suggestion_shown")}>Show suggestion</button>
        <button id="accept" onClick={() => telemetry.track("suggestion_accepted")}>Accept</button>
        <button id="skip" onClick={() => telemetry.track("suggestion_skipped")}>Skip</button>
        <button id="edit" onClick={() => telemetry.track("suggestion_edited")}>Edit &amp; accept</button>
        <button id="undo" onClick={() => telemetry.track("suggestion_undo")}>Undo</button>
      </div>
      <p>
        <a href="/api/telemetry/dashboard">Open the tally dashboard</a> (development only)
      </p>
    </>
  );
}
