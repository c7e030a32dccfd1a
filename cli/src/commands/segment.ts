// Placeholder until its issue lands; replaced by the real command.
export const summary = "segment (not available yet)";
export async function run(_argv: string[]): Promise<number> {
  console.error("synthmri segment: not available in this build yet");
  return 2;
}
