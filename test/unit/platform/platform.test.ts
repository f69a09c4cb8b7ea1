import { dockerPlatform } from "../../../components/platform/docker";
import { FEATURES, Feature, refusals, supportOn } from "../../../components/platform/platform";

const ALL = Object.keys(FEATURES) as Feature[];

describe("supports", () => {
    test("the local platform supports every feature", () => {
        expect(ALL.map((f) => supportOn("local", f))).toEqual(ALL.map(() => ({ supported: true })));
    });

    test.each([
        ["standbys", ["standbys"], "is not available on the docker platform yet (use platform.kind: local)"],
        ["shipping", ["shipping"], "is not available on the docker platform yet (use platform.kind: local)"],
        ["copy", ["copy"], "is not available on the docker platform yet (use platform.kind: local)"],
        ["backups", ["backups"], "is not available on the docker platform yet (use platform.kind: local)"],
        ["engineUnits", ["engine", "units"], "run as local processes: not available on the docker platform yet (use platform.kind: local)"],
        [
            "generatedSuperuserPassword",
            ["superuserPassword"],
            "is needed on the docker platform, which generates no passwords (set it with: pulumi config set --secret superuserPassword <value>)",
        ],
        [
            "generatedApplicationPassword",
            ["applicationPassword"],
            "is needed on the docker platform, which generates no passwords (set it with: pulumi config set --secret applicationPassword <value>)",
        ],
    ] as const)("the docker platform refuses %s at %j", (feature, path, message) => {
        expect(dockerPlatform.supports(feature)).toEqual({ supported: false, path, message });
    });

    test("refusals lists the refused features in the order asked, as path problems", () => {
        expect(refusals("docker", ["copy", "engineUnits"])).toEqual([
            { path: ["copy"], message: "is not available on the docker platform yet (use platform.kind: local)" },
            { path: ["engine", "units"], message: "run as local processes: not available on the docker platform yet (use platform.kind: local)" },
        ]);
        expect(refusals("local", ALL)).toEqual([]);
    });

    test("the docker platform refuses host operations", () => {
        expect(() => dockerPlatform.host({ binDir: "/usr/bin" })).toThrow(
            "the docker platform has no host operations yet: its servers are containers it builds whole (use platform.kind: local)",
        );
    });
});
