#include "imp/test.h"
int imp_broken(struct imp_dev *dev, frobnicate x);
