// Starts one unit of the reference engine (unit.ts) wherever it is started from: `node engine/run.js`
// in a checkout (with the project's TypeScript settings), or the compiled unit.js an installed
// package ships (the unit's name and database come in its environment).
const fs = require("fs");
const path = require("path");
if (fs.existsSync(path.join(__dirname, "unit.js"))) {
    require("./unit.js");
} else {
    require("../runtime/typescript").register();
    require("./unit.ts");
}
