// Preloaded into every supervised service (node --import): when the supervisor dies without stopping its
// children (crash, SIGKILL), the IPC channel closes and the service shuts itself down gracefully instead of
// living on as an orphan.
if (typeof process.send === "function") {
  process.on("disconnect", () => process.kill(process.pid, "SIGTERM"));
  // The channel must not keep the service's event loop alive on its own.
  process.channel?.unref();
}
