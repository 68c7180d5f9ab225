// referralctl keys: CURVE key pairs and the broker's key directory.
#ifndef TOOL_KEYS_H
#define TOOL_KEYS_H

int tool_keys_main(int argc, char **argv);

#endif
