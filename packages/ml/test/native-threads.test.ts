// The native pool's default size: SYNTHMRI_NATIVE_THREADS, else every core; a bad value is an error naming it.
import { describe, expect, it } from "vitest";
import { defaultNativeThreads, hostCores } from "../src/native/threads.js";

describe("defaultNativeThreads", () => {
  it("uses every core unless SYNTHMRI_NATIVE_THREADS names a count", () => {
    expect(defaultNativeThreads({})).toBe(hostCores());
    expect(defaultNativeThreads({ SYNTHMRI_NATIVE_THREADS: "3" })).toBe(3);
  });
  it("rejects a value that is not a positive integer", () => {
    expect(() => defaultNativeThreads({ SYNTHMRI_NATIVE_THREADS: "0" })).toThrow(/SYNTHMRI_NATIVE_THREADS/);
    expect(() => defaultNativeThreads({ SYNTHMRI_NATIVE_THREADS: "two" })).toThrow(/positive integer/);
  });
});
