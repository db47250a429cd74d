// SPDX-License-Identifier: MIT
/* The public header must compile stand-alone as C. */
#include <grb/grb.h>

int main(void)
{
	return 0;
}
