// background.js - wires lib/core.js and lib/reporting.js to Thunderbird.
// Listeners are added at top level so the (non-persistent) background page
// is woken for them.
import { createRapport, loadSettings } from "./lib/core.js";
import { createReports } from "./lib/reports.js";
import { createReporting } from "./lib/reporting.js";

const reports = createReports({ messenger, loadSettings });
const reporting = createReporting({ messenger, reports, loadSettings });
const rapport = createRapport({ messenger, reporting });

messenger.compose.onBeforeSend.addListener(rapport.onBeforeSend);
messenger.compose.onAfterSend.addListener(reporting.onAfterSend);
messenger.messages.onNewMailReceived.addListener(reporting.onNewMailReceived);
messenger.composeAction.onClicked.addListener(rapport.onComposeAction);
messenger.runtime.onMessage.addListener(rapport.onMessage);
messenger.runtime.onMessageExternal.addListener(rapport.onMessageExternal);
messenger.windows.onRemoved.addListener(rapport.onWindowRemoved);
messenger.runtime.onStartup.addListener(reporting.forgetMarks);

// Reports that waited while rapportd was away go now that Thunderbird runs.
reports.flush();
