export * from "./duration";
export * from "./schema";
export * from "./problems";
export * from "./load";
export * from "./validate";
export type { CheckContext, PathProblem } from "./crossChecks";
export { cutoverTarget } from "./drRules";
