// Preloaded into every worker (`--import`), so listen() is routed before the app runs.
import { startWorker } from './start.js';

startWorker();
