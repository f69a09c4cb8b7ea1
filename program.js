// What Pulumi runs for every stack of this project (package.json "main"): the program in index.ts,
// through the cached TypeScript hook rather than ts-node (see runtime/typescript.js).
require("./runtime/typescript").register();
module.exports = require("./index.ts");
