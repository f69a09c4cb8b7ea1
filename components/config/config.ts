export * from "./duration";
export * from "./schema";
export * from "./problems";
export * from "./load";
