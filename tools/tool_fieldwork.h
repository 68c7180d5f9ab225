// `referralctl trustees register|deactivate|list` and `referralctl findings
// record|close|list` (issue 18, points 3 and 4): a center's acts go through
// the broker (TRUSTEE, FINDING); the lists read the database, with
// national ids and phones masked.
#ifndef TOOL_FIELDWORK_H
#define TOOL_FIELDWORK_H

int tool_trustees_main(int argc, char **argv);
int tool_findings_main(int argc, char **argv);

#endif
