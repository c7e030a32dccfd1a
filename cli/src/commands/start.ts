export const summary = "boot every service on embedded defaults and run the main job";
export async function run(_argv: string[]): Promise<number> {
  console.error("synthmri start: not wired yet");
  return 1;
}
