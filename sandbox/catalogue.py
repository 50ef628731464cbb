"""Static reference data of the sandbox's fictional UK managed-service provider.

Everything here is plain data: names, places, products, ticket summaries. The generators in
``sandbox.companies``, ``sandbox.invoices``, ``sandbox.expenses`` and ``sandbox.procurement``
draw from these tables with seeded random numbers, so a seed always yields the same documents.
Telephone numbers use Ofcom's ranges reserved for drama (never assigned to a real line).
"""

from __future__ import annotations

# (name, town key) — hand-written clients; the generator extends the pool past these.
# Position matters: ANGRY_FOX must stay inside the first 40 (the minimum pool size).
CLIENTS: list[tuple[str, str]] = [
    ("Smith & Jones Solicitors LLP", "newcastle"),
    ("Tyne & Wear Dental Care", "sunderland"),
    ("Northumbria Property Lettings Ltd", "morpeth"),
    ("Quayside Architects Ltd", "newcastle"),
    ("Wansbeck Veterinary Practice", "ashington"),
    ("Durham Cathedral Tea Rooms Ltd", "durham"),
    ("Hexham Country Estates", "hexham"),
    ("Barker & Doyle Accountants", "gateshead"),
    ("Pennine Haulage Ltd", "leeds"),
    ("Whitby Harbour Fisheries Ltd", "whitby"),
    ("Leeds Print & Design Co", "leeds"),
    ("Cheviot Outdoor Supplies Ltd", "alnwick"),
    ("Angry Fox Cycles Ltd", "gateshead"),
    ("Harrogate Wealth Partners LLP", "harrogate"),
    ("St Aidan's Primary Academy Trust", "sunderland"),
    ("Tees Valley Engineering Ltd", "middlesbrough"),
    ("Liffey Analytics Ltd", "dublin"),
    ("Ravensworth Physiotherapy", "gateshead"),
    ("Bamburgh Castle Holiday Cottages", "alnwick"),
    ("Morpeth Chantry Bagpipe Museum", "morpeth"),
    ("Grainger Market Traders Association", "newcastle"),
    ("Hudson Valley Robotics Inc", "boston"),
    ("O'Neill & Partners Chartered Surveyors", "newcastle"),
    ("Jesmond Family Opticians", "newcastle"),
    ("York Minster Wine Merchants Ltd", "york"),
    ("Tynemouth Surf School CIC", "tynemouth"),
    ("Stockton & Darlington Railway Society", "darlington"),
    ("Blaydon Builders Merchants Ltd", "gateshead"),
    ("Kielder Forest Lodges Ltd", "hexham"),
    ("Baltic Quay Music Tuition", "gateshead"),
    ("Galway Bay Seafoods Ltd", "dublin"),
    ("Consett Steel Fabrications Ltd", "consett"),
    ("Seaham Harbour Marina Ltd", "sunderland"),
    ("Bradford Textile Heritage Trust", "bradford"),
    ("Wylam Brewery Taproom Ltd", "hexham"),
    ("Chester-le-Street Cricket Club", "durham"),
    ("Brooklyn Bridge Media LLC", "boston"),
    ("Ripon Racecourse Catering Ltd", "harrogate"),
    ("Lindisfarne Mead Company", "alnwick"),
    ("Gosforth Park Golf Club", "newcastle"),
    ("Heaton & Byker Community Trust", "newcastle"),
    ("Saltburn Pier Amusements Ltd", "middlesbrough"),
    ("Whitley Bay Care Homes Ltd", "tynemouth"),
    ("Ilkley Moor Yoga Studio", "leeds"),
    ("Northern Lights Recruitment Ltd", "leeds"),
]
ANGRY_FOX = "Angry Fox Cycles Ltd"
# Clients billed in a foreign currency (everything else is GBP).
FOREIGN_CLIENTS = {"Liffey Analytics Ltd": "EUR", "Galway Bay Seafoods Ltd": "EUR",
                   "Hudson Valley Robotics Inc": "USD", "Brooklyn Bridge Media LLC": "USD"}

# Words for generated clients once the hand-written list is used up.
NAME_STEMS = ["Tyne", "Wear", "Tees", "Aire", "Ouse", "Coquet", "Derwent", "Allen", "Rede",
              "Swale", "Nidd", "Wharfe", "Blyth", "Eden", "Lune", "Esk", "Team", "Ure", "Calder",
              "Harrison", "Robson", "Charlton", "Milburn", "Armstrong", "Dodd", "Elliot",
              "Forster", "Heron", "Ridley", "Shaftoe", "Collingwood", "Grey", "Percy"]
TRADES = ["Dental Care", "Joinery", "Accountants", "Solicitors", "Veterinary Group",
          "Property Management", "Logistics", "Electrical Services", "Bakery", "Pharmacy",
          "Garden Centre", "Opticians", "Motor Repairs", "Interiors", "Plumbing & Heating",
          "Estate Agents", "Nurseries", "Physiotherapy", "Printing", "Roofing", "Brewing Co",
          "Architects", "Engineering", "Wealth Management", "Care Services"]
SUFFIXES = ["Ltd", "Ltd", "Ltd", "LLP", "& Co", "Group Ltd", "Partnership"]

# town key -> (city, county, postcode district, telephone prefix, country code)
TOWNS: dict[str, tuple[str, str, str, str, str]] = {
    "newcastle": ("Newcastle upon Tyne", "Tyne and Wear", "NE1", "0191 498 0", "GB"),
    "gateshead": ("Gateshead", "Tyne and Wear", "NE8", "0191 498 0", "GB"),
    "sunderland": ("Sunderland", "Tyne and Wear", "SR1", "0191 498 0", "GB"),
    "tynemouth": ("North Shields", "Tyne and Wear", "NE30", "0191 498 0", "GB"),
    "morpeth": ("Morpeth", "Northumberland", "NE61", "01670 496 0", "GB"),
    "ashington": ("Ashington", "Northumberland", "NE63", "01670 496 0", "GB"),
    "hexham": ("Hexham", "Northumberland", "NE46", "01434 496 0", "GB"),
    "alnwick": ("Alnwick", "Northumberland", "NE66", "01665 496 0", "GB"),
    "durham": ("Durham", "County Durham", "DH1", "0191 498 0", "GB"),
    "consett": ("Consett", "County Durham", "DH8", "01207 496 0", "GB"),
    "darlington": ("Darlington", "County Durham", "DL1", "01325 496 0", "GB"),
    "middlesbrough": ("Middlesbrough", "North Yorkshire", "TS1", "01642 496 0", "GB"),
    "whitby": ("Whitby", "North Yorkshire", "YO21", "01947 496 0", "GB"),
    "harrogate": ("Harrogate", "North Yorkshire", "HG1", "01423 496 0", "GB"),
    "york": ("York", "North Yorkshire", "YO1", "01904 496 0", "GB"),
    "leeds": ("Leeds", "West Yorkshire", "LS1", "0113 496 0", "GB"),
    "bradford": ("Bradford", "West Yorkshire", "BD1", "01274 496 0", "GB"),
    "dublin": ("Dublin", "Co. Dublin", "D02", "+353 1 555 0", "IE"),
    "boston": ("Boston", "MA", "02110", "+1 617 555 0", "US"),
}
COUNTRIES = {"GB": {"id": 1, "identifier": "GB", "name": "United Kingdom"},
             "IE": {"id": 2, "identifier": "IE", "name": "Ireland"},
             "US": {"id": 3, "identifier": "US", "name": "United States"}}
STREETS = ["Grey Street", "Collingwood Street", "Front Street", "Station Road", "High Street",
           "Market Place", "Church Lane", "Bridge Street", "Northumberland Road", "Park View",
           "Quayside", "Saddler Street", "Fawcett Street", "Briggate", "Westgate Road",
           "Sandhill", "Clayton Street", "Eldon Square", "Bondgate Within", "Priestpopple"]
SECOND_LINES = ["", "", "", "Unit 4, Riverside Business Park", "Suite 2, The Exchange",
                "First Floor", "Innovation House", "Ground Floor East"]
POSTCODE_LETTERS = "ABDEFGHJLNPQRSTUWXYZ"

# (first name, last name): staff of the MSP — sales reps, engineers, expense claimants.
STAFF: list[tuple[str, str]] = [
    ("Priya", "Shah"), ("John", "Smith"), ("Aoife", "Byrne"), ("Callum", "Robson"),
    ("Hannah", "Milburn"), ("Tom", "Reid"), ("Olivia", "Charlton"), ("Graham", "Dodd"),
    ("Fatima", "Begum"), ("Sean", "O'Connell"), ("Ruth", "Elliot"), ("Marek", "Nowak"),
    ("Chloe", "Heron"), ("Daniel", "Armstrong"),
]
SALES_REPS = [0, 3, 6, 10]        # indexes into STAFF
NO_VENDOR_NUMBER_STAFF = 5        # Tom Reid: the member without a Vendor Nbr (broken case)

# (sku, item id, short description, sales description, price in pence, tax xref)
PRODUCTS: list[tuple[str, int, str, str, int, str]] = [
    ("FW-TZ270", 743, "SonicWall TZ270 firewall",
     "SonicWall TZ270 next-generation firewall appliance\r\nincl. 1 year Essential Protection "
     "Service Suite", 54500, "T1"),
    ("LIC-M365-BP", 812, "Microsoft 365 Business Premium",
     "Microsoft 365 Business Premium - monthly subscription per user", 1810, "T1"),
    ("LIC-M365-BS", 813, "Microsoft 365 Business Standard",
     "Microsoft 365 Business Standard - monthly subscription per user", 1030, "T1"),
    ("SSD-1TB", 455, "Samsung 870 EVO 1TB SSD", "Samsung 870 EVO 1TB 2.5\" SATA SSD", 7999, "T1"),
    ("LAP-DELL-5440", 901, "Dell Latitude 5440 laptop",
     "Dell Latitude 5440 14\" FHD, Intel Core i5-1335U, 16GB RAM, 512GB NVMe SSD\r\n"
     "Windows 11 Pro, 3-year ProSupport next business day on-site warranty", 89900, "T1"),
    ("MON-DELL-P2423D", 902, "Dell P2423D 24in monitor",
     "Dell P2423D 24\" QHD IPS monitor, height adjustable", 21900, "T1"),
    ("CAB-CAT6-3M", 120, "Cat6 patch lead 3m", "Cat6 RJ45 patch lead, 3 metre, blue", 249, "T1"),
    ("SW-ESET-EP", 640, "ESET PROTECT Entry (annual)",
     "ESET PROTECT Entry endpoint security - annual licence per seat", 3150, "T1"),
    ("BAK-DATTO-1TB", 655, "Datto cloud backup 1TB",
     "Datto SIRIS cloud backup - 1TB retention, monthly", 14500, "T1"),
    ("UPS-APC-1500", 310, "APC Smart-UPS 1500VA",
     "APC Smart-UPS 1500VA LCD 230V with SmartConnect\r\nDelivered and installed in comms cabinet",
     62900, "T1"),
    ("SW-ADOBE-ACRO", 661, "Adobe Acrobat Pro (annual)",
     "Adobe Acrobat Pro for teams - annual subscription", 23988, "T1"),
    ("DOCK-WD19S", 905, "Dell WD19S USB-C dock", "Dell WD19S 130W USB-C docking station", 18999,
     "T1"),
    ("HDD-EXT-2TB", 456, "Seagate 2TB external drive", "Seagate Expansion 2TB USB 3.0 portable "
     "drive", 6499, "T1"),
    ("KB-MK295", 130, "Logitech MK295 keyboard & mouse",
     "Logitech MK295 silent wireless keyboard & mouse combo, UK layout", 2749, "T1"),
    ("PHN-YEA-T54W", 520, "Yealink T54W desk phone",
     "Yealink SIP-T54W colour-screen IP desk phone with Bluetooth & Wi-Fi", 13900, "T1"),
    ("DOM-COUK-2Y", 700, "Domain renewal .co.uk (2 years)",
     "Domain name renewal, .co.uk, 2 years incl. DNS hosting", 1798, "T1"),
    ("BK-ITIL4", 810, "ITIL 4 Foundation (book)", "ITIL 4 Foundation - official publication",
     3495, "T0"),
    ("TRN-CYBER-WB", 811, "Cyber Essentials workbook",
     "Cyber Essentials staff awareness workbook (printed)", 1250, "T0"),
]
# (description, price in pence) — recharged at cost, outside the scope of VAT (T9).
DISBURSEMENTS = [("Parking recharge - client site visit", 650),
                 ("Congestion charge recharge", 1500),
                 ("Companies House filing fee (disbursement)", 1300),
                 ("Tyne Tunnel toll recharge", 240)]
AGREEMENTS = ["Managed Services Agreement", "Backup as a Service Agreement",
              "Managed Security Agreement", "Microsoft 365 Support Agreement"]
TICKET_SUMMARIES = [
    "Outlook not syncing shared calendar", "Replace failed disk in Synology NAS",
    "New starter laptop build and Intune enrolment", "VPN drops every 20 minutes",
    "Printer on 2nd floor jamming & offline", "Restore deleted SharePoint folder",
    "Migrate reception PC to Windows 11", "MFA reset for director",
    "Investigate phishing email reported by accounts", "Wi-Fi dead spot in meeting room",
    "Set up leaver mailbox forwarding", "Firewall firmware update out of hours",
    "Xero bank feed certificate error", "Teams phone number porting",
]
LABOUR_RATES = [8500, 9500]

EXPENSE_TYPES = {  # name -> (expense type id, GL account, tax xref)
    "Mileage": (1, "7400", "T0"),
    "Rail": (2, "7400", "T0"),
    "Hotel": (3, "7402", "T1"),
    "Subsistence": (4, "7406", "T1"),
}

# (name, vendor identifier, currency) — supplier companies for procurement.
VENDORS: list[tuple[str, str, str]] = [
    ("Dell Technologies UK", "DELL01", "GBP"),
    ("Ingram Micro (UK) Ltd", "INGRAM01", "GBP"),
    ("Exertis UK Ltd", "EXERTIS1", "GBP"),
    ("TD SYNNEX UK Ltd", "TDSYNN01", "GBP"),
    ("Westcoast Ltd", "WESTCO01", "GBP"),
    ("Cheapo Cables Direct", "", "GBP"),
    ("Giacom (Cloud) Ltd", "GIACOM01", "GBP"),
    ("Datto Inc", "DATTO01", "USD"),
]
NO_ACCOUNT_VENDOR = "Cheapo Cables Direct"
