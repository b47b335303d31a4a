// A real OpenID Provider for the tests: npm's oidc-provider (an OpenID-certified implementation).
// Usage: node oidc_provider.mjs PORT CLIENT_ID SECRET_FILE REDIRECT_URI
// One confidential client, PKCE required, the `openid email` scopes; devInteractions' login form
// (any password) for the known accounts below only. Prints "ready ISSUER" once it listens.
import { readFileSync } from "node:fs";
import { pathToFileURL } from "node:url";

const [port, clientId, secretFile, redirectUri] = process.argv.slice(2);
// OIDC_PROVIDER_ENTRY: the package's entry file, found by the Python side (node_modules or NODE_PATH);
// ESM imports do not search NODE_PATH themselves.
const entry = process.env.OIDC_PROVIDER_ENTRY;
const { default: Provider } = await import(entry ? pathToFileURL(entry).href : "oidc-provider");

const ACCOUNTS = {
  alice: { email: "alice@example.com", email_verified: true },
  mallory: { email: "mallory@evil.example", email_verified: true },
  carol: { email: "carol@example.com", email_verified: false },
  admin: { email: "admin@example.com", email_verified: true },
};

const issuer = `http://127.0.0.1:${port}`;
const provider = new Provider(issuer, {
  clients: [{
    client_id: clientId,
    client_secret: readFileSync(secretFile, "utf8").trim(),
    redirect_uris: [redirectUri],
    grant_types: ["authorization_code"],
    response_types: ["code"],
    token_endpoint_auth_method: "client_secret_basic",
  }],
  scopes: ["openid", "email"],
  claims: { openid: ["sub"], email: ["email", "email_verified"] },
  pkce: { required: () => true },
  cookies: { keys: ["only-for-tests-" + port] },
  features: { devInteractions: { enabled: true } },
  async findAccount(ctx, id) {
    const known = ACCOUNTS[id];
    if (!known) { return undefined; }
    return { accountId: id, async claims() { return { sub: id, ...known }; } };
  },
});
provider.on("server_error", (ctx, err) => { console.error("server_error", err); });
provider.listen(Number(port), "127.0.0.1", () => { console.log(`ready ${issuer}`); });
