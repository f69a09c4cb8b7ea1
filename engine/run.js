// Starts one unit of the reference engine (unit.ts) with the project's TypeScript settings, wherever
// it is started from: `node engine/run.js` (the unit's name and database come in its environment).
const path = require("path");
require("ts-node").register({ transpileOnly: true, project: path.join(__dirname, "..", "tsconfig.json") });
require("./unit.ts");
