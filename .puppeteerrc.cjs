// Puppeteer (for `npm run diagram`'s picture) must not download a browser at install time: the project
// renders with the system's Chromium (Debian package chromium; see pipelines/renderDiagram.ts).
module.exports = { skipDownload: true };
