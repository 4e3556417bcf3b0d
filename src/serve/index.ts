export * from "./engine.js";
export * from "./protocol.js";
export * from "./server.js";
export * from "./identity.js";
export * from "./settings.js";
