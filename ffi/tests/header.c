/* The header alone must compile cleanly as C99 and as C++17 with -Wall -Wextra -Werror -pedantic. */
#include "idea.h"

int idea_header_compiles(void);
int idea_header_compiles(void) { return IDEA_ABI_VERSION > 0 ? (int)IDEA_RESULT_OK : 1; }
