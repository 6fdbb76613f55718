"use client";
import { useEffect, useState } from "react";
import { telemetry } from "./telemetry";

export function Suggestion() {
  const [signedIn, setSignedIn] = useState(false);
  const [erased, setErased] = useState("");
  useEffect(() => {
    // For the end-to-end test (tests/e2e/next-app.test.ts), which reads `pending`.
    (window as unknown as { tallyTelemetry: typeof telemetry }).tallyTelemetry = telemetry;
  }, []);

  async function signIn() {
    await fetch("/api/login", { method: "POST" });
    telemetry.reset(); // the signed-in user changed without a page load: bind what comes next to them
    setSignedIn(true);
  }

  async function signOut() {
    telemetry.reset(); // nothing this user tracked is left for the next one on this browser
    await fetch("/api/logout", { method: "POST" });
    setSignedIn(false);
  }

  async function eraseMyData() {
    const result = await telemetry.forget(); // clears every tab's outbox, then DELETE through the proxy
    setErased(result.ok ? `Erased ${result.deleted} counts.` : `Could not erase (${result.error}).`);
  }

  return (
    <>
      <p id="session">{signedIn ? "Signed in as next-demo-user." : "Not signed in."}</p>
      <button id="login" onClick={signIn}>Sign in as demo user</button>
      <button id="logout" onClick={signOut}>Sign out</button>
      <button id="erase" onClick={eraseMyData}>Erase my data</button>
      <p id="erased">{erased}</p>
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
