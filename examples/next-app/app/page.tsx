import { Suggestion } from "./suggestion";

export default function Home() {
  return (
    <main>
      <h1>Example Next.js app</h1>
      <Suggestion />
    </main>
  );
}
