// What Pulumi runs for every stack of this project (package.json "main"): the program in index.ts,
// through the cached TypeScript hook rather than ts-node (see runtime/typescript.js), with the SDK's
// heaviest modules loaded only when used (see runtime/lazySdk.js) and its parse of provider code cached
// (see runtime/parseCache.js).
const { defer, ARBORIST, TYPESCRIPT } = require("./runtime/lazySdk");
defer([ARBORIST, TYPESCRIPT], __dirname);
require("./runtime/parseCache").install(__dirname);
require("./runtime/typescript").register();
module.exports = require("./index.ts");
