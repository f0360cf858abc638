// background.js - wires lib/core.js to Thunderbird. Listeners are added at
// top level so the (non-persistent) background page is woken for them.
import { createRapport } from "./lib/core.js";

const rapport = createRapport({ messenger });

messenger.compose.onBeforeSend.addListener(rapport.onBeforeSend);
messenger.composeAction.onClicked.addListener(rapport.onComposeAction);
messenger.runtime.onMessage.addListener(rapport.onMessage);
messenger.runtime.onMessageExternal.addListener(rapport.onMessageExternal);
messenger.windows.onRemoved.addListener(rapport.onWindowRemoved);
