// What Pulumi runs for every stack of this project (package.json "main"): the program in index.ts,
// through the cached TypeScript hook rather than ts-node (see runtime/typescript.js), with the SDK's
// heaviest modules loaded only when used (see runtime/lazySdk.js) and its parse of provider code cached
// (see runtime/parseCache.js), and a new server's initdb started ahead.
const { defer, ARBORIST, TYPESCRIPT } = require("./runtime/lazySdk");
defer([ARBORIST, TYPESCRIPT], __dirname);
require("./runtime/parseCache").install(__dirname);
require("./runtime/typescript").register();
// During an `up`, initdb of a server about to be created starts now, before the rest of the program
// loads, and runs while the engine starts the provider (see components/server/prepareAhead.ts).
require("./components/server/prepareAhead.ts").prepareServersAhead();
module.exports = require("./index.ts");
