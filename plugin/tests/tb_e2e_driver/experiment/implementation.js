// Test-only experiment for tb_e2e.py (never shipped): stands in for a
// person at Thunderbird's password prompt and Get Messages button.
/* global ExtensionCommon, Services, ChromeUtils, Cc, Ci */
var { MailServices } = ChromeUtils.importESModule("resource:///modules/MailServices.sys.mjs");

var testAccounts = class extends ExtensionCommon.ExtensionAPI {
  getAPI() {
    return {
      testAccounts: {
        async addLogin(origin, username, password) {
          const info = Cc["@mozilla.org/login-manager/loginInfo;1"].createInstance(Ci.nsILoginInfo);
          info.init(origin, null, origin, username, password, "", "");
          await Services.logins.addLoginAsync(info);
          return true;
        },
        async getNewMail() {
          let n = 0;
          for (const server of MailServices.accounts.allServers) {
            if (server.type !== "imap") continue;
            const inbox = server.rootFolder.getFolderWithFlags(Ci.nsMsgFolderFlags.Inbox);
            if (!inbox) continue;
            inbox.getNewMessages(null, null);
            n++;
          }
          return n;
        },
      },
    };
  }
};
