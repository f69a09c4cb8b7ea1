// Preloaded (`node -r`) into the dynamic-provider process by the plugin script scripts/toolchain.sh
// installs: that process only deserializes providers, so neither of the SDK modules deferred here is
// usually loaded at all (see lazySdk.js).
const path = require("path");
const { defer, ARBORIST, TYPESCRIPT } = require("./lazySdk");
defer([ARBORIST, TYPESCRIPT], path.join(__dirname, ".."));
