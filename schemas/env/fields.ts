/**
 * The field constructors the environment's variables are declared with: each variable is a string in
 * the environment, declared here as the value it converts to (with its description, default and bounds,
 * which .env.example and the JSON Schema show).
 */
import { Type } from '@sinclair/typebox';

export const Str = (description: string, def?: string) =>
  def === undefined ? Type.Optional(Type.String({ description })) : Type.String({ description, default: def });
export const Int = (description: string, def: number | undefined, minimum: number, maximum = Number.MAX_SAFE_INTEGER) =>
  Type.Integer(def === undefined ? { description, minimum, maximum } : { description, default: def, minimum, maximum });
export const Num = (description: string, def: number, minimum: number, maximum = Number.MAX_SAFE_INTEGER) =>
  Type.Number({ description, default: def, minimum, maximum });
export const Bool = (description: string, def: boolean) => Type.Boolean({ description, default: def });
export const Enum = <T extends string>(description: string, values: readonly T[], def?: T) =>
  Type.Union(
    values.map((v) => Type.Literal(v)),
    def === undefined ? { description } : { description, default: def },
  );
export const Url = (description: string, protocols: string[]) => Type.Optional(Type.String({ description, pattern: `^(${protocols.join('|')})://.+` }));
