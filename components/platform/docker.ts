// The docker platform: servers in containers, with given passwords. It has no host operations yet
// (standbys, shipping, copies, backups and engine units are refused by `supports`, before any host is asked).
import { Feature, Host, Platform, supportOn, Support } from "./platform";

export const dockerPlatform: Platform = {
    kind: "docker",
    supports(feature: Feature): Support {
        return supportOn("docker", feature);
    },
    host(): Host {
        throw new Error("the docker platform has no host operations yet: its servers are containers it builds whole (use platform.kind: local)");
    },
};
