// `referralctl route explain`: which office a request would go to, and why.
#ifndef TOOL_ROUTE_H
#define TOOL_ROUTE_H

int tool_route_main(int argc, char **argv);

#endif
