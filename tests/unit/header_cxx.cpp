// SPDX-License-Identifier: MIT
// The public header must compile stand-alone as C++ (it provides its own
// extern "C" guards, so it is deliberately not wrapped here).
#include <grb/grb.h>

int main()
{
	return 0;
}
