import ZiggyAlloc
