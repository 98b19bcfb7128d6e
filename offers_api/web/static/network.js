// The operator's ports and routes (GET /v1/network), read once per sign-in.

import { api } from "./api.js";

let cached = null;

export async function loadNetwork() {
  if (!cached) {
    cached = api.get("/v1/network").catch((error) => {
      cached = null;
      throw error;
    });
  }
  return cached;
}
