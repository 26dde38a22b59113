export { AtEngine, type AtEngineOptions, type AtEngineStats, type AtResponse, type CommandOptions } from './engine.js';
export { AtClosedError, AtCmeError, AtCmsError, AtError, AtModemRebootedError, AtTimeoutError } from './at-errors.js';
export {
  CME_ERROR_TEXT,
  CMS_ERROR_TEXT,
  classifyCmeError,
  classifyCmsError,
  lookupCmeText,
  lookupCmsText,
  type ErrorClass,
} from './errors.js';
export { KNOWN_URCS, parseFinalResult, responsePrefixOf, type AtUrc } from './reader.js';
