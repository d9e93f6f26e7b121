// npm run openapi: writes the public API's OpenAPI document and its TypeScript types (describe.ts).
// Run it after changing a public route; a test fails while the committed files are out of date.
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describePublicApi, documentText, OPENAPI_JSON, OPENAPI_TYPES, typesText } from '../gateway/openapi/describe.js';

const doc = await describePublicApi();
writeFileSync(OPENAPI_JSON, documentText(doc));
writeFileSync(OPENAPI_TYPES, await typesText(doc));
console.log(`wrote ${fileURLToPath(OPENAPI_JSON)} and ${fileURLToPath(OPENAPI_TYPES)}`);
