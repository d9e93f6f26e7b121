// RFC 9457 problem details: the error shape of every HTTP API here (gateway and vault). One
// schema and one builder; each component brings its own codes, statuses and titles.
import { Type } from '@sinclair/typebox';

export const PROBLEM_FIELDS = {
  type: Type.String(),
  title: Type.String(),
  status: Type.Integer(),
  detail: Type.String(),
  code: Type.String(),
};

export const Problem = Type.Object(PROBLEM_FIELDS);

export function problemOf(code: string, status: number, detail: string, title = code.replace(/_/g, ' ')) {
  return { type: `/problems/${code}`, title, status, detail, code };
}
