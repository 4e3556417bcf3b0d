/** What OPENR1_BACKEND / --backend accept (apart from backend.ts, so that configs need not load tfjs). */
export const BACKEND_PREFERENCES = ["auto", "tensorflow", "webgpu", "wasm", "cpu"] as const;
export type BackendPreference = (typeof BACKEND_PREFERENCES)[number];
export type BackendName = Exclude<BackendPreference, "auto">;
