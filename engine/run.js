// Starts one unit of the reference engine (unit.ts) with the project's TypeScript settings, wherever
// it is started from: `node engine/run.js` (the unit's name and database come in its environment).
require("../runtime/typescript").register();
require("./unit.ts");
