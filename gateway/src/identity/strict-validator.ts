// Identity routes validate request bodies strictly: Fastify's default Ajv coerces types (1234567
// becomes "1234567", ["x"] becomes "x") and silently drops unknown fields. For credentials a
// wrong type or an unexpected field is a client bug or a probe and gets a clear 400 instead.
// Set per encapsulated plugin, so other capabilities keep their own compiler.
import type { FastifySchemaCompiler } from 'fastify';
import type { TSchema } from '@sinclair/typebox';
import { TypeCompiler } from '@sinclair/typebox/compiler';

export const strictValidator: FastifySchemaCompiler<TSchema> = ({ schema }) => {
  const check = TypeCompiler.Compile(schema);
  return (value: unknown) => {
    if (check.Check(value)) return { value };
    const error = [...check.Errors(value)].slice(0, 10).map((e) => ({
      keyword: 'type',
      instancePath: e.path,
      schemaPath: e.path,
      params: {},
      message: e.message,
    }));
    return { error };
  };
};
