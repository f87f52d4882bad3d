"""Word lists for the synthetic world (invented company/school names; common given and family names).

Every list is a tuple so that iteration order is fixed: the world generator draws from them with a
seeded ``random.Random`` and must produce the same world on every run and every Python version.

Name entries are ``(display, ascii)`` pairs where ``ascii`` is ``""`` for Latin-script names (the
generator transliterates them with NFKD + a small table) and the romanised form for names written
in scripts that cannot be transliterated letter by letter (Chinese, Japanese).
"""

# ruff: noqa: RUF001  (non-ASCII letters are the point of this module)

from __future__ import annotations

# ---------------------------------------------------------------------------------------------
# Names, by culture. Each culture: (male first, female first, last male, last female).
# Family names are shared by both genders except where the language inflects them (Russian).
# ---------------------------------------------------------------------------------------------

_L = ""  # marker: Latin script, transliterate automatically


def _latin(names: str) -> tuple[tuple[str, str], ...]:
    return tuple((n.strip(), _L) for n in names.split(",") if n.strip())


CULTURES: dict[str, dict[str, tuple[tuple[str, str], ...]]] = {
    "english": {
        "male": _latin(
            "James, Liam, Noah, Ethan, Owen, Nathan, Ryan, Connor, Daniel, Mark, Oliver, Samuel,"
            " Declan, Callum, Henry, Isaac, Theo, Jack, Rory, Miles, Elliot, Graham, Tobias, Seán"
        ),
        "female": _latin(
            "Olivia, Emma, Ava, Chloe, Grace, Harper, Zoë, Ella, Megan, Hannah, Rachel, Sarah,"
            " Laura, Niamh, Aoife, Siobhán, Imogen, Freya, Isla, Mary-Kate, Abigail, Naomi, Ruth"
        ),
        "last": _latin(
            "Carter, Hughes, Bennett, O'Brien, O'Connor, Smith-Jones, Whitfield, Ashworth,"
            " Pemberton, Caldwell, Fletcher, Hollis, Marsh, Thornton, Langley, McAllister, MacLeod,"
            " Fairbanks, Sutton, Prescott, Winslow, Harlow, Brennan, Doyle, Kavanagh, Rowe,"
            " Blackwood, Everett, Holloway, Lockhart, Merriweather, Quinn, Radcliffe, Stanton,"
            " Tremaine, Underwood, Vance, Wakefield, Yardley, Hartley-Moore, D'Arcy"
        ),
    },
    "german": {
        "male": _latin(
            "Lukas, Jonas, Jürgen, Sören, Björn, Maximilian, Felix, Jörg, Matthias, Tobias,"
            " Florian, Sebastian, Moritz, Niklas, Uwe, Rüdiger, Henrik, Till, Karl-Heinz, Jannik"
        ),
        "female": _latin(
            "Leonie, Anja, Katrin, Lena, Marie, Ute, Annika, Hannah, Jülide, Mareike, Friederike,"
            " Sabine, Birgit, Hanna-Lena, Carolin, Svenja, Dörte, Johanna, Wiebke, Greta"
        ),
        "last": _latin(
            "Müller, Schröder, Weiß, Krüger, Hoffmann, Bäcker, Vogt, Brandt, Köhler, Zimmermann,"
            " Hartmann, Große, Schäfer, Neumann, von Ahlen, Fuchs, Scholz, Baumgärtner, Wendt,"
            " Meißner, Lößner, Voß, Kästner, von der Heide, Oberländer, Sauerbrey, Thielmann"
        ),
    },
    "french": {
        "male": _latin(
            "Jean-Luc, Jérôme, François, Mathéo, Noël, Théo, Benoît, Clément, Loïc, Hugo, Étienne,"
            " Baptiste, Rémi, Aurélien, Grégoire, Jean-Baptiste, Maël, Lucien, Gaspard, Cédric"
        ),
        "female": _latin(
            "Anne-Sophie, Chloé, Hélène, Émilie, Léa, Céline, Gaëlle, Inès, Amélie, Margaux,"
            " Océane, Marie-Claire, Élodie, Clémence, Maëlle, Solène, Bérénice, Aurélie, Noémie"
        ),
        "last": _latin(
            "Dubois, Lefèvre, Moreau, Girard, Faure, Rousseau, Lemaire, Chevalier, Garnier, Duval,"
            " Leroux, Fournier, Mercier, Boucher, de Villiers, Lacroix, Marchand, Perrin, Bézier,"
            " Thibault, Déschamps, Lefebvre-Morel, du Plessis, Béranger, Côté, Gauthier, Rivière"
        ),
    },
    "iberian": {
        "male": _latin(
            "José, Alejandro, Martín, João, Tomás, Mateo, Joaquín, Gonçalo, Raúl, Ángel, Sebastián,"
            " Iñigo, Andrés, Rubén, Álvaro, Thiago, Caetano, Juan Pablo, Nicolás, Víctor"
        ),
        "female": _latin(
            "María, Sofía, Lucía, Ana, Camila, Valentina, Beatriz, Conceição, Nuria, Inês, Lorena,"
            " Mónica, María José, Ximena, Begoña, Leonor, Luísa, Mariana, Paula, Estefanía"
        ),
        "last": _latin(
            "García, de la Cruz, Fernández, Núñez, Ibáñez, Peña, Rodrigues, Gonçalves, Castillo,"
            " Moreno, dos Santos, Alves, Ortega, Muñoz, Sánchez, Vázquez, Ruiz, da Silva, Barros,"
            " Araújo, de la Fuente, Echeverría, Olmedo, Quiñones, Sáenz, Valdés, del Río, Magalhães"
        ),
    },
    "slavic": {
        "male": _latin(
            "Łukasz, Paweł, Krzysztof, Wojciech, Jiří, Ondřej, Tomáš, Marek, Michał, Grzegorz,"
            " Radek, Přemysl, Bartłomiej, Jakub, Zdeněk, Miloš"
        ),
        "female": _latin(
            "Agnieszka, Małgorzata, Zofia, Tereza, Petra, Kateřina, Zuzana, Joanna, Magdaléna,"
            " Żaneta, Dagmar, Alžběta, Weronika, Barbora, Jadwiga, Šárka"
        ),
        "last": _latin(
            "Dvořák, Nowak, Kowalczyk, Wójcik, Novotný, Svoboda, Černý, Procházka, Horák, Kučera,"
            " Mazur, Krawczyk, Wróbel, Dušek, Pokorný, Sýkora, Zając, Kozieł, Bláha, Jankowiak"
        ),
    },
    "dutch_nordic": {
        "male": _latin(
            "Sander, Joost, Maarten, Ruben, Sven, Søren, Mikael, Bjørn, Lars, Anders, Pieter,"
            " Jesper, Thijs, Håkon, Oskar, Nils"
        ),
        "female": _latin(
            "Femke, Lieke, Eline, Sanne, Astrid, Ingrid, Åsa, Freja, Maartje, Sigrid, Linnéa,"
            " Ylva, Annelies, Marit, Solveig, Britt"
        ),
        "last": _latin(
            "van der Berg, de Vries, van Dijk, Bakker, Janssen, de Jong, Visser, Smit,"
            " van den Heuvel, Lindqvist, Johansson, Østergaard, Andersen, Håkansson, Nyström,"
            " Sørensen, Dahl, ter Horst, van 't Hof, Bergström, Ødegård, Ljungberg, Kroon"
        ),
    },
    "west_african": {
        "male": _latin(
            "Chidi, Emeka, Oluwaseun, Kwame, Kofi, Tunde, Yaw, Ifeanyi, Chukwudi, Babajide,"
            " Kwabena, Obinna, Femi, Kojo"
        ),
        "female": _latin(
            "Lina, Ngozi, Adaeze, Ama, Abena, Funmilayo, Efua, Chiamaka, Yetunde, Akosua, Nneka,"
            " Folake, Esi, Amara"
        ),
        "last": _latin(
            "Okafor, Adeyemi, Mensah, Boateng, Okonkwo, Balogun, Asante, Nwosu, Oyelaran, Owusu,"
            " Eze, Adebayo, Danso, Acheampong, Okoro, Ogunleye, Appiah, Nnamdi"
        ),
    },
    "south_asian": {
        "male": _latin(
            "Arjun, Rohan, Vikram, Rahul, Karthik, Aarav, Ishaan, Sanjay, Aditya, Nikhil, Pranav,"
            " Siddharth, Varun, Harish"
        ),
        "female": _latin(
            "Priya, Ananya, Kavya, Aditi, Sneha, Meera, Divya, Neha, Lakshmi, Pooja, Shreya,"
            " Anjali, Radhika, Swati"
        ),
        "last": _latin(
            "Sharma, Iyer, Reddy, Patel, Nair, Menon, Gupta, Chatterjee, Kulkarni, Deshpande,"
            " Banerjee, Rao, Pillai, Joshi, Bhattacharya, Krishnan, Venkataraman, Subramaniam"
        ),
    },
    "east_asian_latin": {
        "male": _latin("Wei, Jun, Hao, Haruto, Ren, Min-jun, Ji-ho, Minh, Quang, Kenji, Takumi"),
        "female": _latin("Mei, Yuki, Sakura, Seo-yeon, Ji-woo, Linh, Thảo, Hye-jin, Aiko, Xinyi"),
        "last": _latin(
            "Chen, Liu, Zhang, Tanaka, Sato, Nakamura, Kim, Park, Lee, Nguyễn, Trần, Phạm,"
            " Lê, Huang, Kobayashi, Choi, Jung"
        ),
    },
    "arabic_latin": {
        "male": _latin("Omar, Youssef, Karim, Tariq, Samir, Rami, Khalid, Nabil, Hassan, Ziad"),
        "female": _latin("Layla, Fatima, Nour, Yasmin, Rania, Salma, Amira, Hala, Dina, Leïla"),
        "last": _latin(
            "Haddad, El-Amin, Al-Sayed, Mansour, Khoury, Nasser, Ben Ali, Saleh, Azzam, Hamdan,"
            " El Idrissi, Bakr"
        ),
    },
    # Non-Latin scripts. Chinese and Japanese carry their romanisation; Cyrillic is transliterated
    # by table, the pair is given anyway so that the data does not depend on the table.
    "chinese": {
        "male": (("伟", "Wei"), ("磊", "Lei"), ("浩", "Hao"), ("强", "Qiang"), ("俊杰", "Junjie")),
        "female": (
            ("芳", "Fang"),
            ("静", "Jing"),
            ("秀英", "Xiuying"),
            ("丽", "Li"),
            ("婷", "Ting"),
        ),
        "last": (("王", "Wang"), ("李", "Li"), ("张", "Zhang"), ("刘", "Liu"), ("陈", "Chen")),
    },
    "japanese": {
        "male": (("翔太", "Shota"), ("健", "Ken"), ("大輔", "Daisuke"), ("拓也", "Takuya")),
        "female": (("陽子", "Yoko"), ("美咲", "Misaki"), ("さくら", "Sakura"), ("愛", "Ai")),
        "last": (("山田", "Yamada"), ("佐藤", "Sato"), ("鈴木", "Suzuki"), ("高橋", "Takahashi")),
    },
    "russian": {
        "male": (
            ("Иван", "Ivan"),
            ("Дмитрий", "Dmitriy"),
            ("Алексей", "Aleksey"),
            ("Сергей", "Sergey"),
        ),
        "female": (
            ("Ольга", "Olga"),
            ("Наталья", "Natalya"),
            ("Екатерина", "Ekaterina"),
            ("Анна", "Anna"),
        ),
        "last_male": (
            ("Иванов", "Ivanov"),
            ("Кузнецов", "Kuznetsov"),
            ("Попов", "Popov"),
            ("Соколов", "Sokolov"),
        ),
        "last_female": (
            ("Иванова", "Ivanova"),
            ("Кузнецова", "Kuznetsova"),
            ("Попова", "Popova"),
            ("Соколова", "Sokolova"),
        ),
    },
}

# Cyrillic → Latin (a simple BGN-like table), used by the ASCII folding of names.
CYRILLIC = {
    "а": "a", "б": "b", "в": "v", "г": "g", "д": "d", "е": "e", "ё": "e", "ж": "zh", "з": "z",
    "и": "i", "й": "y", "к": "k", "л": "l", "м": "m", "н": "n", "о": "o", "п": "p", "р": "r",
    "с": "s", "т": "t", "у": "u", "ф": "f", "х": "kh", "ц": "ts", "ч": "ch", "ш": "sh",
    "щ": "shch", "ъ": "", "ы": "y", "ь": "", "э": "e", "ю": "yu", "я": "ya",
}  # fmt: skip

# Latin letters that NFKD does not decompose.
LATIN_EXTRA = {
    "ł": "l", "Ł": "L", "ø": "o", "Ø": "O", "æ": "ae", "Æ": "AE", "œ": "oe", "Œ": "OE",
    "ß": "ss", "đ": "d", "Đ": "D", "ð": "d", "Ð": "D", "þ": "th", "Þ": "Th", "ı": "i",
}  # fmt: skip

# ---------------------------------------------------------------------------------------------
# Countries: weight for companies, cities, name cultures (local first), TLDs, languages.
# ---------------------------------------------------------------------------------------------

COUNTRIES: dict[str, dict[str, object]] = {
    "US": {
        "name": "United States", "weight": 28, "tlds": (".com", ".io", ".ai", ".co", ".dev"),
        "cities": ("Austin", "Denver", "Oakland", "Boston", "Chicago", "Seattle", "New York",
                   "Atlanta", "Portland", "Minneapolis", "San Diego", "Raleigh"),
        "cultures": ("english", "iberian", "south_asian", "east_asian_latin", "west_african"),
        "languages": ("English", "Spanish"),
    },
    "GB": {
        "name": "United Kingdom", "weight": 12, "tlds": (".co.uk", ".com", ".io"),
        "cities": ("London", "Manchester", "Bristol", "Leeds", "Edinburgh", "Cambridge", "Cardiff"),
        "cultures": ("english", "south_asian", "west_african", "slavic"),
        "languages": ("English",),
    },
    "DE": {
        "name": "Germany", "weight": 10, "tlds": (".de", ".com", ".io"),
        "cities": ("Berlin", "Munich", "Hamburg", "Cologne", "Leipzig", "Stuttgart", "Frankfurt"),
        "cultures": ("german", "slavic", "arabic_latin", "russian"),
        "languages": ("German", "English"),
    },
    "FR": {
        "name": "France", "weight": 8, "tlds": (".fr", ".com", ".io"),
        "cities": ("Paris", "Lyon", "Nantes", "Toulouse", "Bordeaux", "Lille", "Grenoble"),
        "cultures": ("french", "arabic_latin", "west_african"),
        "languages": ("French", "English"),
    },
    "ES": {
        "name": "Spain", "weight": 5, "tlds": (".es", ".com"),
        "cities": ("Madrid", "Barcelona", "Valencia", "Seville", "Bilbao", "Málaga"),
        "cultures": ("iberian",),
        "languages": ("Spanish", "English", "Catalan"),
    },
    "NL": {
        "name": "Netherlands", "weight": 4, "tlds": (".nl", ".com", ".io"),
        "cities": ("Amsterdam", "Rotterdam", "Utrecht", "Eindhoven", "The Hague"),
        "cultures": ("dutch_nordic", "arabic_latin"),
        "languages": ("Dutch", "English"),
    },
    "SE": {
        "name": "Sweden", "weight": 2, "tlds": (".se", ".com"),
        "cities": ("Stockholm", "Gothenburg", "Malmö", "Uppsala"),
        "cultures": ("dutch_nordic",),
        "languages": ("Swedish", "English"),
    },
    "PL": {
        "name": "Poland", "weight": 3, "tlds": (".pl", ".com", ".io"),
        "cities": ("Warsaw", "Kraków", "Wrocław", "Gdańsk", "Poznań"),
        "cultures": ("slavic",),
        "languages": ("Polish", "English"),
    },
    "BR": {
        "name": "Brazil", "weight": 5, "tlds": (".com.br", ".com"),
        "cities": ("São Paulo", "Rio de Janeiro", "Belo Horizonte", "Curitiba", "Florianópolis"),
        "cultures": ("iberian",),
        "languages": ("Portuguese", "English"),
    },
    "IN": {
        "name": "India", "weight": 6, "tlds": (".in", ".co.in", ".com", ".io"),
        "cities": ("Bengaluru", "Pune", "Hyderabad", "Chennai", "Mumbai", "Gurugram"),
        "cultures": ("south_asian",),
        "languages": ("English", "Hindi", "Tamil"),
    },
    "JP": {
        "name": "Japan", "weight": 4, "tlds": (".jp", ".co.jp", ".com"),
        "cities": ("Tokyo", "Osaka", "Fukuoka", "Kyoto", "Yokohama"),
        "cultures": ("japanese", "east_asian_latin"),
        "languages": ("Japanese", "English"),
    },
    "AU": {
        "name": "Australia", "weight": 4, "tlds": (".com.au", ".io", ".com"),
        "cities": ("Sydney", "Melbourne", "Brisbane", "Perth", "Adelaide"),
        "cultures": ("english", "east_asian_latin", "south_asian"),
        "languages": ("English",),
    },
    "CA": {
        "name": "Canada", "weight": 5, "tlds": (".ca", ".com", ".io"),
        "cities": ("Toronto", "Montréal", "Vancouver", "Calgary", "Ottawa"),
        "cultures": ("english", "french", "east_asian_latin", "chinese"),
        "languages": ("English", "French"),
    },
    "SG": {
        "name": "Singapore", "weight": 2, "tlds": (".sg", ".com.sg", ".com"),
        "cities": ("Singapore",),
        "cultures": ("chinese", "east_asian_latin", "south_asian"),
        "languages": ("English", "Mandarin"),
    },
    "NG": {
        "name": "Nigeria", "weight": 2, "tlds": (".ng", ".com.ng", ".com"),
        "cities": ("Lagos", "Abuja", "Ibadan"),
        "cultures": ("west_african",),
        "languages": ("English", "Yoruba", "Igbo"),
    },
}  # fmt: skip

# ---------------------------------------------------------------------------------------------
# Companies and schools (invented word combinations).
# ---------------------------------------------------------------------------------------------

COMPANY_FIRST = (
    "Northwind",
    "Amberline",
    "Bluefjord",
    "Cobaltreach",
    "Driftwood",
    "Emberfall",
    "Fernbrook",
    "Granitepeak",
    "Harborlight",
    "Ironleaf",
    "Juniperhill",
    "Kestrelmoor",
    "Lanternfish",
    "Mossgate",
    "Nimbusfield",
    "Oakhollow",
    "Pinecrest",
    "Quillstone",
    "Ravenbrook",
    "Saltmarsh",
    "Tidewater",
    "Umberlake",
    "Velvetpine",
    "Willowmere",
    "Yarrowdale",
    "Zephyrline",
    "Brightkelp",
    "Copperfox",
    "Dunmoor",
    "Elmstead",
    "Foxglove",
    "Glasswing",
    "Hollowbay",
    "Indigoreef",
    "Jadeharbor",
    "Kilnworth",
    "Larkspur",
    "Marrowfield",
    "Nettlebrook",
    "Orchardline",
    "Puffinrock",
    "Quarrymill",
    "Rookstone",
    "Silverbirch",
    "Thistledown",
    "Upland",
    "Vantablue",
    "Wrenfield",
    "Ashgrove",
    "Birchpoint",
    "Cloudberry",
    "Duskwater",
    "Eastmere",
    "Flintridge",
    "Goldcrest",
    "Heronsgate",
    "Islewind",
    "Kelpway",
    "Lindenhall",
    "Mapleforge",
)
COMPANY_SECOND = (
    "Labs",
    "Systems",
    "Analytics",
    "Works",
    "Dynamics",
    "Logistics",
    "Health",
    "Robotics",
    "Partners",
    "Software",
    "Foods",
    "Energy",
    "Studio",
    "Cloud",
    "Bio",
    "Data",
    "Networks",
    "Security",
    "Capital",
    "Mobility",
    "Materials",
    "Learning",
    "Media",
    "Commerce",
    "Payments",
    "Insights",
    "Devices",
    "Freight",
)
COMPANY_THIRD = ("Group", "Collective", "Industries", "Technologies", "Ventures", "HQ")
LEGAL_SUFFIX = {
    "US": ("", "", "Inc.", "LLC"),
    "GB": ("", "Ltd", "Ltd."),
    "DE": ("", "GmbH", "GmbH", "AG"),
    "FR": ("", "SAS", "SA"),
    "ES": ("", "S.L."),
    "NL": ("", "B.V."),
    "SE": ("", "AB"),
    "PL": ("", "sp. z o.o."),
    "BR": ("", "Ltda."),
    "IN": ("", "Pvt Ltd"),
    "JP": ("", "K.K."),
    "AU": ("", "Pty Ltd"),
    "CA": ("", "Inc."),
    "SG": ("", "Pte. Ltd."),
    "NG": ("", "Ltd"),
}

INDUSTRIES = (
    "Software Development", "IT Services and IT Consulting", "Financial Services",
    "Hospital and Health Care", "Logistics and Supply Chain", "Renewable Energy",
    "Marketing Services", "E-Learning", "Biotechnology Research", "Retail",
    "Industrial Machinery Manufacturing", "Food and Beverage", "Computer and Network Security",
    "Venture Capital", "Media Production", "Transportation",
)  # fmt: skip

SIZE_BANDS = (
    ("1-10", 1), ("11-50", 3), ("51-200", 6), ("201-500", 10), ("501-1000", 14),
    ("1001-5000", 20), ("5001-10000", 28), ("10001+", 36),
)  # fmt: skip
SIZE_BAND_WEIGHTS = (8, 22, 28, 17, 10, 9, 4, 2)

SCHOOL_PATTERNS = (
    "{w} University", "University of {w}", "{w} Institute of Technology", "{w} Business School",
    "Technische Hochschule {w}", "Université de {w}", "Universidad de {w}", "{w} College",
)  # fmt: skip
SCHOOL_WORDS = (
    "Westbridge", "Auenfeld", "Valmont", "Easthaven", "Corrowin", "Brackmoor", "Lindqvale",
    "Sandoria", "Merrowfield", "Kestonbury", "Ostrava Nova", "Teralune", "Halvorsen", "Ambrevia",
)  # fmt: skip
DEGREES = (
    "BSc Computer Science", "BA Economics", "MBA", "MSc Data Science", "BEng Mechanical Engineering",
    "MA Marketing", "BSc Mathematics", "LLM", "MSc Finance", "BA Communication", "PhD Physics",
    "BSc Business Administration", "MSc Information Systems", "BA Psychology",
)  # fmt: skip

# ---------------------------------------------------------------------------------------------
# Jobs: department → (titles by seniority junior..senior, skills).
# ---------------------------------------------------------------------------------------------

DEPARTMENTS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "sales": (
        ("Sales Development Representative", "Account Executive", "Senior Account Executive",
         "Sales Manager", "Head of Sales", "VP Sales"),
        ("Salesforce", "Negotiation", "Prospecting", "B2B Sales", "HubSpot", "Cold Calling",
         "Pipeline Management", "Forecasting", "SaaS", "Account Management", "MEDDIC"),
    ),
    "revops": (
        ("Revenue Operations Analyst", "Sales Operations Specialist", "RevOps Manager",
         "Head of Revenue Operations", "VP Revenue Operations"),
        ("Salesforce", "SQL", "Forecasting", "HubSpot", "Data Analysis", "CRM Administration",
         "Process Design", "Looker", "Excel", "Territory Planning"),
    ),
    "marketing": (
        ("Marketing Coordinator", "Growth Marketer", "Content Marketing Manager",
         "Product Marketing Manager", "Head of Marketing", "Chief Marketing Officer"),
        ("SEO", "Content Strategy", "Google Analytics", "Demand Generation", "Copywriting",
         "Marketing Automation", "Brand Management", "Paid Social", "Event Marketing"),
    ),
    "engineering": (
        ("Software Engineer", "Senior Software Engineer", "Staff Engineer", "Engineering Manager",
         "Director of Engineering", "Chief Technology Officer"),
        ("Python", "TypeScript", "Kubernetes", "PostgreSQL", "Go", "AWS", "Distributed Systems",
         "React", "Rust", "CI/CD", "Terraform", "System Design"),
    ),
    "data": (
        ("Data Analyst", "Data Engineer", "Senior Data Scientist", "Analytics Manager",
         "Head of Data", "Chief Data Officer"),
        ("SQL", "Python", "dbt", "Machine Learning", "Statistics", "Airflow", "Dagster", "Spark",
         "Data Modeling", "Tableau", "DuckDB"),
    ),
    "product": (
        ("Associate Product Manager", "Product Manager", "Senior Product Manager",
         "Group Product Manager", "VP Product"),
        ("Product Strategy", "User Research", "Roadmapping", "A/B Testing", "Agile", "Jira",
         "Product Discovery", "Figma", "Stakeholder Management"),
    ),
    "finance": (
        ("Financial Analyst", "Senior Accountant", "Finance Manager", "Controller",
         "Chief Financial Officer"),
        ("Financial Modeling", "IFRS", "Budgeting", "Excel", "SAP", "FP&A", "Treasury",
         "Audit", "NetSuite"),
    ),
    "people": (
        ("Recruiter", "Talent Acquisition Partner", "HR Business Partner", "Head of People",
         "Chief People Officer"),
        ("Recruiting", "Employer Branding", "Onboarding", "Compensation", "Workday",
         "Employee Relations", "Greenhouse", "Coaching"),
    ),
    "operations": (
        ("Operations Associate", "Operations Manager", "Supply Chain Manager",
         "Director of Operations", "Chief Operating Officer"),
        ("Lean", "Six Sigma", "Supply Chain", "Procurement", "Vendor Management",
         "Process Improvement", "ERP", "Logistics"),
    ),
    "founder": (
        ("Co-Founder", "Founder & CEO", "Managing Director", "Geschäftsführer",
         "Directeur Général"),
        ("Leadership", "Fundraising", "Strategy", "Public Speaking", "Go-to-Market",
         "Board Relations", "Hiring"),
    ),
}  # fmt: skip
DEPARTMENT_WEIGHTS = {
    "sales": 18, "revops": 6, "marketing": 13, "engineering": 20, "data": 9, "product": 9,
    "finance": 7, "people": 6, "operations": 8, "founder": 4,
}  # fmt: skip

SUMMARY_OPENERS = (
    "I help {industry} teams turn messy processes into repeatable ones.",
    "{years}+ years in {dept_word}, most of them in fast-growing {industry} companies.",
    "Curious {dept_word} person who likes clean data and short meetings.",
    "Building things at {company}. Previously at {previous}.",
    "Passionate about {skill1} and {skill2}.",
    "",
)
SUMMARY_CLOSERS = (
    "Always happy to talk about {skill1}.",
    "Based in {city}; open to remote collaboration.",
    "Views are my own.",
    "Mentor, speaker, occasional podcast guest.",
    "",
)
DEPT_WORDS = {
    "sales": "sales", "revops": "revenue operations", "marketing": "marketing",
    "engineering": "engineering", "data": "data", "product": "product", "finance": "finance",
    "people": "people & talent", "operations": "operations", "founder": "startup",
}  # fmt: skip

# Invented free-mail domains (never real providers).
FREE_MAIL_DOMAINS = (
    "mailbox-example.net", "postbox-demo.com", "inbox-sample.org", "letterpost-example.de",
    "quickmail-demo.co.uk", "courriel-exemple.fr", "correo-ejemplo.es", "maildrop-sample.io",
)  # fmt: skip

# Former employers that are not part of the world's current companies ("Freelance" etc.).
NON_COMPANY_EMPLOYERS = ("Freelance", "Self-employed", "Independent Consultant", "Career break")
