/* sluiced: placeholder main until the broker lands (issue 3). */
#include <stdio.h>

int main(void)
{
    fprintf(stderr, "sluiced: broker not built yet\n");
    return 1;
}
