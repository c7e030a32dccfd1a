import { InvalidInput } from "@synthmri/core";

/** A bad configuration value. The message is one line naming the variable and what it accepts; mains print it and exit 2. */
export class ConfigError extends InvalidInput {
  readonly variable: string;
  constructor(variable: string, message: string) {
    super(`${variable}: ${message}`);
    this.name = "ConfigError";
    this.variable = variable;
  }
}
