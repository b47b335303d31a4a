// Test only (loaded with `node --require`): the names in $MCP_TRAY_TEST_RESOLVE resolve to 127.0.0.1
// inside this Node process, so a client can reach a local proxy under a public-looking name without
// any change to the machine's hosts file.
"use strict";
const dns = require("node:dns");
const names = new Set((process.env.MCP_TRAY_TEST_RESOLVE || "").split(",").filter(Boolean));
const original = dns.lookup;
dns.lookup = function lookup(hostname, options, callback) {
  if (typeof options === "function") {
    callback = options;
    options = {};
  } else if (typeof options === "number") {
    options = { family: options };
  }
  if (!names.has(String(hostname).toLowerCase())) {
    return original.call(this, hostname, options, callback);
  }
  if (options && options.all) {
    process.nextTick(callback, null, [{ address: "127.0.0.1", family: 4 }]);
  } else {
    process.nextTick(callback, null, "127.0.0.1", 4);
  }
  return {};
};
