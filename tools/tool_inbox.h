// `referralctl inbox`: an office's inbox over the broker (command INBOX).
#ifndef TOOL_INBOX_H
#define TOOL_INBOX_H

int tool_inbox_main(int argc, char **argv);

#endif
