// The load scripts' target is the shared process stack (test/support/load-target.ts), which the
// example merchant's end-to-end test starts as well.
export { LIFTED_CEILINGS, startLoadTarget, type LoadTarget } from '../../test/support/load-target.js';
