import { ccpCommand } from "../support/ccp.ts";
import { describeOperatorFlow } from "../support/cli-flow.ts";

// The same flow runs against the compiled binary in cli-binary.test.ts.
describeOperatorFlow("source", ccpCommand);
