from btcscan.cli import main

main()
