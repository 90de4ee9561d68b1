import { ccpCommand } from "../support/ccp.ts";
import { describeWrap } from "../support/cli-wrap.ts";

// The same cases run against the compiled binary in cli-binary.test.ts.
describeWrap("source", ccpCommand);
