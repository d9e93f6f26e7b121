// Request validation without ajv's type coercion, for routes that take credentials, codes or
// money: Fastify's default would turn "150000" or true into an amount, 1234567 into a code, and
// silently drop unknown fields. Bodies are checked exactly as declared (TypeBox's compiled checker);
// path, query and header values, always strings on the wire, are converted to the declared types first.
import type { FastifySchemaCompiler } from 'fastify';
import type { TSchema } from '@sinclair/typebox';
import { TypeCompiler } from '@sinclair/typebox/compiler';
import { Value } from '@sinclair/typebox/value';

export const strictValidatorCompiler: FastifySchemaCompiler<TSchema> = ({ schema, httpPart }) => {
  const check = TypeCompiler.Compile(schema);
  return (input: unknown) => {
    const value = httpPart === 'body' ? input : Value.Convert(schema, input);
    // Headers stay as they came (Fastify and later hooks read the raw ones).
    if (check.Check(value)) return { value: httpPart === 'headers' ? input : value };
    const errors = [...check.Errors(value)].slice(0, 10).map((e) => ({
      keyword: 'type', instancePath: e.path, schemaPath: '', params: {}, message: e.message,
    }));
    return { error: Object.assign(new Error(`${httpPart ?? 'request'} is not valid`), { validation: errors }) };
  };
};
