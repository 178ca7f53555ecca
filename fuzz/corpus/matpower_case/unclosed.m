mpc.baseMVA = 10;
mpc.bus = [1 3 0 0 0 0 1 1 0 12.66 1 1 1;
mpc.branch(:, 3) = 0;
