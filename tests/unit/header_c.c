// SPDX-License-Identifier: MIT
/* The public headers must compile stand-alone as C. */
#include <grb/grb.h>
#include <grb/native.h>
#include <grb/client.h>
#include <grb/ctf.h>

int main(void)
{
	return 0;
}
